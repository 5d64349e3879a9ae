// Schedules: the regime language, learning-rate scaling, warm-up, regime adaptation (issue 5).
