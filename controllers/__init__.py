from . import incoming_webhook
