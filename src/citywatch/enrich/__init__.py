"""Enrichment: pseudonyms for personal identifiers, H3 cells, identities.

After this stage no raw account name is left on an event, and ``source_pseudonym``
stands for the client address wherever state or storage would otherwise keep it.
"""

from citywatch.enrich.enricher import EnrichConfig, Enricher
from citywatch.enrich.identity import login_account, request_path
from citywatch.enrich.intel import Indicator, IndicatorMatcher, IntelError, import_indicators
from citywatch.enrich.pseudonym import Pseudonymiser, load_or_create_key

__all__ = [
    "EnrichConfig",
    "Enricher",
    "Indicator",
    "IndicatorMatcher",
    "IntelError",
    "Pseudonymiser",
    "import_indicators",
    "load_or_create_key",
    "login_account",
    "request_path",
]
