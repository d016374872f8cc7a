"""The words of the domain: the vocabulary, the gazetteer, language catalogs, the typed
values (enums) and the policy rules (province scope, grants) every layer shares."""
