"""The ModelGate component: whether a trained model may serve, with intervals, and the
predictions it was judged on."""
