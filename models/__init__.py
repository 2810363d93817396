from . import res_config_settings
from . import integration_webhook_endpoint
from . import integration_webhook_dispatcher
from . import integration_webhook_delivery
from . import integration_webhook_attempt
from . import integration_webhook_replay
from . import ir_actions_server
