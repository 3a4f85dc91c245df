"""The pure core of planbot: plan model, periods, pace, figure parsing. Standard library only."""
