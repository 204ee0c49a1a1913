"""Language bridging: language tags, an operation's glossary and the translation engines.

:mod:`.codes` names languages; :mod:`.glossary` keeps an operation's agreed terms and
do-not-translate entries out of an engine's reach (pure); :mod:`.engines` is the port a
self-hosted machine-translation engine sits behind; :mod:`.translator` puts them
together: route, protect, call, restore.
"""
