"""What views, the command line and the demo all call: keys, staffing, notifications."""
