"""Operations, channels, membership and messages."""
