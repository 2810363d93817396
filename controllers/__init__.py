from . import rpc
from . import incoming_webhook
from . import event_catalog
from . import metrics
