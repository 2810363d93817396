from . import integration_webhook_test_event
from . import integration_webhook_replay
from . import res_users_apikeys_description
from . import integration_api_key_wizard
from . import integration_api_key_issued
