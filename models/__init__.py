from . import res_config_settings
from . import ir_http
from . import base_automation
from . import integration_webhook_validator
from . import integration_webhook_rejection
from . import integration_webhook_message
