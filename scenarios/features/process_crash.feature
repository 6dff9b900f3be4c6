@process_crash
Feature: A crashed process takes nothing with it
  The supervisor restarts the API and the downstream on the same port, as Lambda or ECS
  would. Clients that retry with the same Idempotency-Key lose no order, and the
  downstream, whose effects outlive it, applies none twice.

  Background:
    Given the reference system is running

  @ci
  Scenario: The API is killed three times and the downstream once under traffic
    When 60 orders arrive from patient clients while the API is killed 3 times and the downstream once
    Then every killed process was healthy again within 10 s
    And every order was accepted and applied exactly once
