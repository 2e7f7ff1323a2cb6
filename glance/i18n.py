"""Translation marker for user-facing messages."""

import oslo_i18n

_translators = oslo_i18n.TranslatorFactory(domain="glance")
_ = _translators.primary
