from . import test_menus
from . import test_tour
from . import test_incoming_webhooks
from . import test_webhook_validator
