"""Request plumbing: the app factory, settings to Flask, security headers, errors, rate
limits, languages, compression, staff sessions, the site's own pages."""
