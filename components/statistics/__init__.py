"""StatisticsGen's executor without Beam, for spans that fit in memory."""
