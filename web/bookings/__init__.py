"""Booking pages: resource calendars, my bookings, my equipment, a space's week, and iCalendar feeds."""
