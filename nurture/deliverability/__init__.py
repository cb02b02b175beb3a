"""What the email provider tells us after a hand-off: signed events, bounces, complaints."""
