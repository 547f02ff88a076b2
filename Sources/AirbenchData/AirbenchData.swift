// AirbenchData
