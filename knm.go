// Package knm holds the domain of the knm telephone-number manager: phone numbers and their
// states, accounts, carrier modules, the stores that persist them and the one error type
// every layer speaks.
//
// knm is modelled on Kazoo's number manager and stays compatible with it: the nine number
// states, the carrier module names (knm_local, knm_voxbone, …), the phone_number document
// shape and the permission rules over the account tree are Kazoo's. Subpackages implement
// the interfaces declared here (store/sqlite, store/postgres, carriers/…) and talk to each
// other only in these terms; cmd/knm wires them together.
package knm
