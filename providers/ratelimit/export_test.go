package ratelimit

// ReserveSrc is the text of the script that takes a slot.
const ReserveSrc = reserveSrc
