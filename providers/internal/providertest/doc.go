// Package providertest helps the providers' tests look for leaked passwords:
// a Recorder in front of the emulator keeps every password that crossed the
// wire, in either direction, and every URL; Leaks scans texts for them; and
// Capture collects what the process writes to stdout, stderr and the log
// package meanwhile.
package providertest
