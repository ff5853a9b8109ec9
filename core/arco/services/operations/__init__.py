"""Operations: doctor, rebuild, recovery."""
