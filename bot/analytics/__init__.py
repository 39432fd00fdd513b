"""Analytics: behaviour events, daily rollups, funnels and stalls, sell-through (动销) and the
weekly private-domain report (《私域运营报告》). See docs/analytics.md."""
