@happy_path
Feature: Every accepted order is applied exactly once
  An order the API answered 202 for has been acknowledged by SQS; the worker must
  apply it downstream exactly once, within the accept-to-effect latency objective.

  Background:
    Given the reference system is running

  @ci
  Scenario Outline: <count> orders at a steady pace
    When <count> orders arrive
    Then every order is acknowledged with an event id
    And no order is lost or applied twice
    And the end-to-end-latency objective holds

    Examples:
      | count |
      | 20    |
      | 60    |
