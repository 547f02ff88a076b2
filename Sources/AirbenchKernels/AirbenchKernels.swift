// AirbenchKernels
