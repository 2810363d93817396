from . import rpc
from . import incoming_webhook
