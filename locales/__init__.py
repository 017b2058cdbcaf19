"""The compiled gettext catalogs, installed as the package ``baraza_locales`` (see bot.i18n)."""
