from . import rpc
from . import incoming_webhook
from . import event_catalog
from . import portal
from . import portal_actions
from . import portal_keys
from . import metrics
