"""Operations: what each host function does, inside one audited transaction."""
