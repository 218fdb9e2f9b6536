"""The web application: server-rendered pages for officers, inspectors, analysts and managers.

``web.app.create_app`` is the API's application (``api.app.create_app``) with the pages
(``web.pages``), their static files and languages (``web.i18n``) added; ``quaywatch serve``
serves it. The pages call the same services as the API and the command line.
"""
