from . import res_config_settings
from . import integration_api_policy
from . import integration_api_policy_rule
from . import res_users
from . import res_users_apikeys
from . import res_users_apikeys_description
from . import integration_api_key_wizard
from . import ir_http
