"""The manager's cockpit: live utilization, unmet demand, charts and the filing workbook."""
