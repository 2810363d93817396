from . import test_menus
from . import test_tour
from . import test_api_policy
from . import test_auth_guard
from . import test_rate_limiter
from . import test_api_rate_limit
from . import test_incoming_webhooks
from . import test_webhook_validator
