// Package kazoo connects knm to Kazoo's CouchDB, so that Kazoo routes the numbers knm
// manages and knm knows Kazoo's accounts.
//
// The Projector follows knm's event outbox as the leased, persisted events.Consumer
// "kazoo_sync" and keeps each number's phone_number document, in its numbers/+NNNN
// database and as a copy in its owner's account/xx/yy/rest database, as Kazoo's own number
// manager writes them (knm_phone_number:save and delete). Service runs it in knm serve as
// the kazoo_sync settings say. FullSync checks or rebuilds every such document.
// AccountImporter creates and updates knm accounts from Kazoo's accounts database, once or
// by following its _changes feed.
package kazoo
