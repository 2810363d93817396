"""What a user and a reader see: tours, menus, the README and its
screenshots, translations, the install log and the documentation's client
examples. ``test_readme``, ``test_screenshots`` and ``test_install_log`` are
plain pytest modules (they import the project's tools/), run by pytest only.
"""

from . import test_examples
from . import test_i18n
from . import test_menus
from . import test_tour
from . import test_tour_event_types
from . import test_tour_scenarios
