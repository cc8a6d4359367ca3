"""What callers want done, each opening its own transactions and writing its outbox
events: the sender loop, the SES notifications (bounces, complaints), newsletter
campaigns. Routes, consumers and the command line call these."""
