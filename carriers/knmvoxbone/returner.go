package knmvoxbone

// ReturnsNumberOnDisconnect reports that a disconnected number is gone for good: Voxbone
// cancels the DID, so the manager deletes the number instead of offering it from the pool
// again (knm.NumberReturner).
func (c *Carrier) ReturnsNumberOnDisconnect() bool { return true }
