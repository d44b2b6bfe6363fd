// Package mdrp reads the Grubhub Meal Delivery Routing Problem (MDRP) benchmark
// instances, checks a dispatch solution against the rules of the problem,
// computes its service and cost metrics and writes it in the three-file format
// of the public MDRP evaluator.
//
// The package depends on the standard library only. A dispatcher builds a
// Solution (one Assignment per bundle sent to a courier), then calls Check to
// verify it, Evaluate to measure it and WriteSolution to export it.
// Instance.RouteTiming gives the times Check expects for a route.
//
// Rules, as the benchmark states them and Check enforces them:
//
//   - Travel between two points takes ceil(euclidean metres / metres per
//     minute) minutes (Instance.TravelMinutes).
//   - A courier leaves its origin (its start point for its first route, the
//     last drop-off of its previous route after that) at Depart, no earlier
//     than its on_time, than the assignment's Time, and than the end of its
//     previous route (last drop-off plus half the drop-off service).
//   - Pickup = max(latest ready time of the bundle, arrival at the restaurant
//     plus half the pickup service); the courier leaves half a service later.
//     Each drop-off = arrival plus half the drop-off service; the courier
//     leaves half a service later.
//   - A bundle holds orders of one restaurant only and each order is in at
//     most one assignment.
//   - Online: an assignment sent at Time may only hold orders placed at or
//     before Time.
//   - A courier may not pick up after its off_time but may finish its
//     drop-offs after it.
//   - A delivered order's click-to-door (drop-off minus placement) may not
//     exceed the instance's maximum.
//
// Undelivered orders break no rule; they are counted in Report and Metrics.
package mdrp
