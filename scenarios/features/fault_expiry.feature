@fault_expiry @ci
Feature: A fault heals itself at its expiry
  Every fault carries an expiry, so a crashed run cannot leave the system broken:
  nobody clears it, and still it goes away.

  Background:
    Given the reference system is running

  Scenario Outline: The <mode> fault expires after <seconds> seconds
    Given the <mode> fault is switched on with a <seconds> second expiry
    Then the API applies the <mode> fault
    And the fault heals by itself within 10 seconds

    Examples:
      | mode            | seconds |
      | slow_api        | 3       |
      | poison_payload  | 3       |
