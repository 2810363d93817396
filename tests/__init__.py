from . import test_menus
from . import test_tour
from . import test_webhook_concurrency
from . import test_webhook_dispatch
from . import test_webhook_endpoint
from . import test_webhook_outbox
