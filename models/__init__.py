from . import res_config_settings
from . import integration_rate_limiter
from . import ir_http
