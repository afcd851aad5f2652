"""The build agent: a LangGraph graph whose nodes plan, write, test, package and deploy an app."""
