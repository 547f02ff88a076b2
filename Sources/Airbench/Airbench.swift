// Airbench
