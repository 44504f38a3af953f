"""Events: scheduling, RSVPs and the waitlist, reminders, check-in and attendance."""
