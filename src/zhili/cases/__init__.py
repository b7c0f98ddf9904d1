"""Cases (案件): the supervision–dispatch workflow, case standards, deadlines on the working calendar."""
