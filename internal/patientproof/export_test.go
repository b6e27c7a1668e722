package patientproof

// RateHolders returns the number of holders whose rate state is kept, for
// tests of its bound.
func (cs *Challenges) RateHolders() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.rate)
}
