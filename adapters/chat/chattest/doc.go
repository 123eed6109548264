// Package chattest holds what the tests of every chat adapter need besides
// their platform's fake: the workflow on real Redis, a cloud whose
// passwords the tests can read (the TDSQL API, emulated, behind the real
// Tencent provider), the service's executor, and the scans for a password
// where it must not be.
package chattest
