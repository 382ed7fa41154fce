"""The error a prompt's reader raises: what was typed cannot be used, and the message says what can."""


class Invalid(ValueError):
    """Shown to the person under the prompt, which stays open so they can correct it."""
