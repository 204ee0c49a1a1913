"""The rule language and its engine: rule text in, compiled rules and decisions out.

Every module here is pure: the condition language (lexer, expressions), summary
templates, the engine that turns cases and a clock into decisions, and the
rule file that operators keep in version control.
"""
