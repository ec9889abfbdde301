// Package models is the domain at the centre of fieldsync: cases, their workflow,
// the org tree and grids, users, devices, sync commands and their outcomes.
//
// Nothing here does I/O and nothing here knows about HTTP, JSON or SQL: the types
// carry no struct tags. The storage package maps rows to these types, the api
// package maps them to DTOs. Every other package depends on this one.
package models
