@spike
Feature: A traffic spike is shed with 429 and the accepted requests keep their latency
  The rate limit sheds what the system cannot take, with Retry-After, so the requests
  it does accept stay within the ingest-latency objective.

  Background:
    Given the reference system is running

  @ci
  Scenario: A burst beyond the rate limit
    Then a burst beyond the rate limit is answered 429 with Retry-After
    And no order is lost or applied twice

  @gameday
  Scenario Outline: The spike profile at time scale <scale>
    When the spike load profile runs at time scale <scale>
    Then the spike-shedding objective holds
    And the ingest-latency objective holds
    And no order is lost or applied twice

    Examples:
      | scale |
      | 0.3   |
