"""API keys: policies and their answers, the reach of a call's arguments,
read-only keys, the default policy, rate limits and the guard against key
guessing."""

from . import test_api_default_policy
from . import test_api_policy
from . import test_api_policy_answers
from . import test_api_rate_limit
from . import test_api_reach
from . import test_api_read_only
from . import test_auth_guard
from . import test_rate_limiter
from . import test_plumbing
